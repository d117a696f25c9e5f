using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fennel.Protocol;

/// <summary>
/// JSON for task arguments and results, understanding kombu's type tags
/// <c>{"__type__": "datetime" | "date" | "time" | "uuid" | "decimal" | "bytes" | "base64", "__value__": ...}</c>
/// (kombu 5.3 and later) as well as the plain strings older kombu (5.2, Debian's Celery 5.2.6) writes.
/// </summary>
/// <remarks>
/// Reading accepts both forms for <see cref="DateTimeOffset"/>, <see cref="DateTime"/>, <see cref="DateOnly"/>,
/// <see cref="TimeOnly"/>, <see cref="Guid"/>, <see cref="decimal"/> and <c>byte[]</c>. Writing uses the tags only when
/// asked (<c>FennelOptions.JsonTypeTags</c>), because a kombu 5.2 peer would see the tag objects as dicts.
/// Object property names are snake_case on the wire (Python's style) and read case-insensitively.
/// </remarks>
internal static class KombuJson
{
    /// <summary>Serializer options for task arguments and results.</summary>
    /// <param name="writeTypeTags">Write kombu 5.3 type tags for dates, UUIDs, decimals and bytes.</param>
    public static JsonSerializerOptions CreateOptions(bool writeTypeTags)
    {
        var options = new JsonSerializerOptions
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            PropertyNameCaseInsensitive = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Converters =
            {
                new Tagged<DateTimeOffset>("datetime", writeTypeTags, r => CeleryTime.TryParse(r, out var v) ? v : throw Bad("datetime", r),
                    v => v.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture)),
                new Tagged<DateTime>("datetime", writeTypeTags, r => CeleryTime.TryParse(r, out var v) ? v.UtcDateTime : throw Bad("datetime", r),
                    v => v.Kind == DateTimeKind.Unspecified ? v.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture)
                        : new DateTimeOffset(v.ToUniversalTime()).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture)),
                new Tagged<DateOnly>("date", writeTypeTags, r => DateOnly.Parse(r, CultureInfo.InvariantCulture),
                    v => v.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                new Tagged<TimeOnly>("time", writeTypeTags, r => TimeOnly.Parse(r, CultureInfo.InvariantCulture),
                    v => v.ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture)),
                new Tagged<Guid>("uuid", writeTypeTags, Guid.Parse, v => v.ToString()),
                new TaggedDecimal(writeTypeTags),
                new TaggedBytes(writeTypeTags),
            },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private static JsonException Bad(string type, string text) => new($"'{text}' is not a valid {type}.");

    /// <summary>Reads <c>{"__type__": marker, "__value__": text}</c> or plain text; writes either.</summary>
    private class Tagged<T>(string marker, bool writeTags, Func<string, T> parse, Func<T, string> format) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = ReadTaggedText(ref reader, marker, out _);
            try
            {
                return parse(text);
            }
            catch (FormatException ex)
            {
                throw new JsonException($"'{text}' is not a valid {marker}.", ex);
            }
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        {
            if (!writeTags)
            {
                writer.WriteStringValue(format(value));
                return;
            }
            writer.WriteStartObject();
            writer.WriteString("__type__", marker);
            writer.WriteString("__value__", format(value));
            writer.WriteEndObject();
        }
    }

    /// <summary>Decimals: JSON numbers, strings, or the <c>decimal</c> tag.</summary>
    private sealed class TaggedDecimal(bool writeTags) : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number) return reader.GetDecimal();
            var text = ReadTaggedText(ref reader, "decimal", out _);
            return decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new JsonException($"'{text}' is not a valid decimal.");
        }

        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options)
        {
            if (!writeTags)
            {
                writer.WriteNumberValue(value);
                return;
            }
            writer.WriteStartObject();
            writer.WriteString("__type__", "decimal");
            writer.WriteString("__value__", value.ToString(CultureInfo.InvariantCulture));
            writer.WriteEndObject();
        }
    }

    /// <summary>Bytes: base64 strings (System.Text.Json's form), <c>bytes</c> (UTF-8 text) or <c>base64</c> tags.</summary>
    private sealed class TaggedBytes(bool writeTags) : JsonConverter<byte[]>
    {
        public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = ReadTaggedText(ref reader, null, out var marker);
            if (marker == "bytes") return System.Text.Encoding.UTF8.GetBytes(text);
            try
            {
                return Convert.FromBase64String(text);
            }
            catch (FormatException ex)
            {
                throw new JsonException("Bytes must be base64 text or a kombu bytes tag.", ex);
            }
        }

        public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options)
        {
            if (!writeTags)
            {
                writer.WriteBase64StringValue(value);
                return;
            }
            writer.WriteStartObject();
            writer.WriteString("__type__", "base64");
            writer.WriteBase64String("__value__", value);
            writer.WriteEndObject();
        }
    }

    private static string ReadTaggedText(ref Utf8JsonReader reader, string? expectedMarker, out string? marker)
    {
        marker = null;
        if (reader.TokenType == JsonTokenType.String) return reader.GetString()!;
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"Expected a string or a kombu type tag, got {reader.TokenType}.");
        string? value = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "__type__": marker = reader.GetString(); break;
                case "__value__": value = reader.TokenType == JsonTokenType.String ? reader.GetString() : reader.GetDouble().ToString(CultureInfo.InvariantCulture); break;
                default: reader.Skip(); break;
            }
        }
        if (value is null || marker is null) throw new JsonException("A kombu type tag needs both __type__ and __value__.");
        if (expectedMarker is not null && marker != expectedMarker) throw new JsonException($"Expected a '{expectedMarker}' value, got a '{marker}' tag.");
        return value;
    }
}
