using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Python;

/// <summary>
/// Reads back the Python reprs the events carry (<c>argsrepr</c>, <c>kwargsrepr</c>) as JSON, to re-send a task: <c>None</c>,
/// <c>True</c>, <c>False</c>, ints, floats, strings with Python's escapes, lists, tuples (as lists, as Celery's JSON does) and
/// dicts with string keys. Anything else — an object's repr, a set, bytes, <c>inf</c>, a repr cut short at 1024 characters, a
/// sensitive value shown as <c>'***'</c> — cannot be rebuilt faithfully, and the reason says which.
/// </summary>
internal static class PythonLiteral
{
    /// <summary>How deep lists and dicts may nest.</summary>
    private const int MaxDepth = 64;

    private const string Sensitive = "***";

    /// <summary>Positional arguments: a tuple (<c>(2, 3)</c>, <c>(7,)</c>, <c>()</c>) or a list.</summary>
    public static bool TryParseArgs(string repr, out JsonArray args, out string error)
    {
        args = [];
        if (!TryParse(repr, out var node, out error)) return false;
        if (node is not JsonArray array)
        {
            error = $"the positional arguments are not a tuple or a list but {Describe(node)}";
            return false;
        }
        args = array;
        return true;
    }

    /// <summary>Keyword arguments: a dict with string keys (<c>{'greeting': 'Hi'}</c>, <c>{}</c>).</summary>
    public static bool TryParseKwargs(string repr, out JsonObject kwargs, out string error)
    {
        kwargs = [];
        if (!TryParse(repr, out var node, out error)) return false;
        if (node is not JsonObject obj)
        {
            error = $"the keyword arguments are not a dict but {Describe(node)}";
            return false;
        }
        kwargs = obj;
        return true;
    }

    /// <summary>One Python literal, the whole text (spaces around allowed).</summary>
    public static bool TryParse(string repr, out JsonNode? value, out string error)
    {
        ArgumentNullException.ThrowIfNull(repr);
        value = null;
        var trimmed = repr.Trim();
        if (trimmed is Sensitive or "'***'" or "\"***\"")
        {
            error = "it is hidden ('***': sensitive arguments are not sent in events)";
            return false;
        }
        var parser = new Parser(repr);
        try
        {
            value = parser.ParseDocument();
        }
        catch (FormatException ex)
        {
            error = trimmed.EndsWith("...", StringComparison.Ordinal)
                ? "it was cut short (reprs are kept to 1024 characters) and the rest is not known"
                : ex.Message;
            return false;
        }
        if (ContainsSensitive(value))
        {
            error = "it holds '***': a sensitive argument, hidden from the events, whose value is not known";
            value = null;
            return false;
        }
        error = "";
        return true;
    }

    private static bool ContainsSensitive(JsonNode? node) => node switch
    {
        JsonArray array => array.Any(ContainsSensitive),
        JsonObject obj => obj.Any(p => p.Key == Sensitive || ContainsSensitive(p.Value)),
        JsonValue v => v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == Sensitive,
        _ => false,
    };

    private static string Describe(JsonNode? node) => node switch
    {
        null => "None",
        JsonArray => "a list",
        JsonObject => "a dict",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            _ => "a boolean",
        },
    };

    private sealed class Parser(string text)
    {
        private int _at;
        private int _depth;

        public JsonNode? ParseDocument()
        {
            var value = ParseValue();
            SkipSpace();
            if (_at < text.Length) throw Fail($"unexpected {Shown()} after the value");
            return value;
        }

        private JsonNode? ParseValue()
        {
            SkipSpace();
            if (_at >= text.Length) throw Fail("the text ends where a value should be");
            var c = text[_at];
            switch (c)
            {
                case '\'' or '"':
                    return JsonValue.Create(ParseString());
                case '[':
                    return ParseSequence(']', isTuple: false);
                case '(':
                    return ParseSequence(')', isTuple: true);
                case '{':
                    return ParseDict();
                case '<':
                    throw Fail($"an object's repr ({Excerpt()}) is not a literal");
                case '-' or '+' or '.' or (>= '0' and <= '9'):
                    return ParseNumber();
            }
            if (char.IsLetter(c) || c == '_') return ParseName();
            throw Fail($"unexpected {Shown()}");
        }

        private JsonNode? ParseName()
        {
            var start = _at;
            while (_at < text.Length && (char.IsLetterOrDigit(text[_at]) || text[_at] is '_' or '.')) _at++;
            var name = text[start.._at];
            if (_at < text.Length && text[_at] is '\'' or '"' && name.ToUpperInvariant() is "B" or "BR" or "RB")
            {
                _at = start;
                throw Fail("bytes (b'...') cannot be sent as JSON");
            }
            switch (name)
            {
                case "None": return null;
                case "True": return JsonValue.Create(true);
                case "False": return JsonValue.Create(false);
                case "inf" or "nan":
                    _at = start;
                    throw Fail($"'{name}' is a float JSON cannot carry");
            }
            _at = start;
            throw Fail($"'{name}' is not a literal but an object's repr ({Excerpt()})");
        }

        private JsonNode ParseNumber()
        {
            var start = _at;
            var sb = new StringBuilder();
            if (text[_at] is '-' or '+')
            {
                if (text[_at] == '-') sb.Append('-');
                _at++;
                SkipSpace();
                if (_at < text.Length && char.IsLetter(text[_at]))
                {
                    _at = start;
                    throw Fail($"'{Excerpt()}' is not a number JSON can carry");
                }
            }
            var digits = ReadDigits(sb);
            var isFloat = false;
            if (_at < text.Length && text[_at] == '.')
            {
                isFloat = true;
                if (digits == 0) sb.Append('0');
                sb.Append('.');
                _at++;
                if (ReadDigits(sb) == 0) sb.Append('0');
            }
            else if (digits == 0)
            {
                _at = start;
                throw Fail($"unexpected {Shown()}");
            }
            if (_at < text.Length && text[_at] is 'e' or 'E')
            {
                isFloat = true;
                sb.Append('e');
                _at++;
                if (_at < text.Length && text[_at] is '-' or '+') sb.Append(text[_at++]);
                if (ReadDigits(sb) == 0) throw Fail("a number's exponent has no digits");
            }
            if (_at < text.Length && (char.IsLetterOrDigit(text[_at]) || text[_at] == '_'))
            {
                _at = start;
                throw Fail($"'{Excerpt()}' is not a number JSON can carry");
            }
            var number = sb.ToString();
            if (!isFloat)
            {
                // Python writes ints without leading zeros; strip them anyway, JSON forbids them.
                var negative = number.StartsWith('-');
                var trimmed = number.TrimStart('-').TrimStart('0');
                number = (negative && trimmed.Length > 0 ? "-" : "") + (trimmed.Length == 0 ? "0" : trimmed);
            }
            else
            {
                var negative = number.StartsWith('-');
                var body = number.TrimStart('-');
                var dot = body.IndexOfAny(['.', 'e']);
                var whole = body[..dot].TrimStart('0');
                number = (negative ? "-" : "") + (whole.Length == 0 ? "0" : whole) + body[dot..];
                if (!double.IsFinite(double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture)))
                {
                    _at = start;
                    throw Fail($"'{Excerpt()}' is a float JSON cannot carry (too large)");
                }
            }
            return JsonNode.Parse(number)!;
        }

        private int ReadDigits(StringBuilder sb)
        {
            var count = 0;
            while (_at < text.Length && text[_at] is >= '0' and <= '9')
            {
                sb.Append(text[_at++]);
                count++;
            }
            return count;
        }

        private string ParseString()
        {
            var quote = text[_at];
            var start = _at++;
            var sb = new StringBuilder();
            while (true)
            {
                if (_at >= text.Length || text[_at] is '\n' or '\r')
                {
                    _at = start;
                    throw Fail("a string is not closed");
                }
                var c = text[_at++];
                if (c == quote) break;
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (_at >= text.Length)
                {
                    _at = start;
                    throw Fail("a string is not closed");
                }
                var e = text[_at++];
                switch (e)
                {
                    case '\\' or '\'' or '"': sb.Append(e); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'a': sb.Append('\a'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'v': sb.Append('\v'); break;
                    case '\n': break;
                    case 'x': AppendCodePoint(sb, ReadHex(2)); break;
                    case 'u': AppendCodePoint(sb, ReadHex(4)); break;
                    case 'U': AppendCodePoint(sb, ReadHex(8)); break;
                    case >= '0' and <= '7':
                        var value = e - '0';
                        for (var i = 0; i < 2 && _at < text.Length && text[_at] is >= '0' and <= '7'; i++) value = (value * 8) + (text[_at++] - '0');
                        AppendCodePoint(sb, value);
                        break;
                    case 'N':
                        _at -= 2;
                        throw Fail("a named escape (\\N{...}) is not supported");
                    default:
                        // Python keeps an unknown escape as it is, backslash included.
                        sb.Append('\\').Append(e);
                        break;
                }
            }
            var s = sb.ToString();
            for (var i = 0; i < s.Length; i++)
            {
                if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
                else if (char.IsSurrogate(s[i]))
                {
                    _at = start;
                    throw Fail("a string holds a lone surrogate, which JSON text cannot carry");
                }
            }
            return s;
        }

        private int ReadHex(int length)
        {
            if (_at + length > text.Length || !int.TryParse(text.AsSpan(_at, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
                || text.AsSpan(_at, length).ContainsAny('+', '-'))
            {
                throw Fail($"a \\x, \\u or \\U escape needs {length} hex digits");
            }
            _at += length;
            return value;
        }

        private void AppendCodePoint(StringBuilder sb, int codePoint)
        {
            if (codePoint is < 0 or > 0x10FFFF) throw Fail($"\\U{codePoint:x8} is not a Unicode code point");
            // Python's surrogates are code points of their own (two escapes never pair up); JSON text cannot carry them.
            if (codePoint is >= 0xD800 and <= 0xDFFF) throw Fail($"a string holds the surrogate \\u{codePoint:x4}, which JSON text cannot carry");
            sb.Append(char.ConvertFromUtf32(codePoint));
        }

        private JsonArray ParseSequence(char close, bool isTuple)
        {
            Enter();
            _at++;
            var items = new JsonArray();
            var sawComma = false;
            while (true)
            {
                SkipSpace();
                if (_at < text.Length && text[_at] == close)
                {
                    _at++;
                    break;
                }
                items.Add(ParseValue());
                SkipSpace();
                if (_at < text.Length && text[_at] == ',')
                {
                    _at++;
                    sawComma = true;
                    continue;
                }
                if (_at < text.Length && text[_at] == close)
                {
                    _at++;
                    break;
                }
                throw Fail(_at >= text.Length ? $"a {(isTuple ? "tuple" : "list")} is not closed" : $"expected ',' or '{close}', found {Shown()}");
            }
            _depth--;
            // (x) is x in parentheses, not a tuple; Python's repr of a one-tuple is (x,).
            if (isTuple && items.Count == 1 && !sawComma) throw Fail("a value in parentheses without a comma is not a tuple");
            return items;
        }

        private JsonObject ParseDict()
        {
            Enter();
            var open = _at++;
            var obj = new JsonObject();
            while (true)
            {
                SkipSpace();
                if (_at < text.Length && text[_at] == '}')
                {
                    _at++;
                    break;
                }
                var keyAt = _at;
                var key = ParseValue();
                SkipSpace();
                if (_at < text.Length && text[_at] is ',' or '}' && obj.Count == 0)
                {
                    _at = open;
                    throw Fail("a set cannot be sent as JSON");
                }
                if (key is not JsonValue k || k.GetValueKind() != JsonValueKind.String)
                {
                    _at = keyAt;
                    throw Fail("a dict key that is not a string cannot be sent as JSON");
                }
                if (_at >= text.Length || text[_at] != ':') throw Fail(_at >= text.Length ? "a dict is not closed" : $"expected ':', found {Shown()}");
                _at++;
                var name = k.GetValue<string>();
                var value = ParseValue();
                if (!obj.TryAdd(name, value)) throw Fail($"the dict has the key '{name}' twice");
                SkipSpace();
                if (_at < text.Length && text[_at] == ',')
                {
                    _at++;
                    continue;
                }
                if (_at < text.Length && text[_at] == '}')
                {
                    _at++;
                    break;
                }
                throw Fail(_at >= text.Length ? "a dict is not closed" : $"expected ',' or '}}', found {Shown()}");
            }
            _depth--;
            return obj;
        }

        private void Enter()
        {
            if (++_depth > MaxDepth) throw Fail($"it nests deeper than {MaxDepth} levels");
        }

        private void SkipSpace()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at])) _at++;
        }

        private string Shown() => _at >= text.Length ? "the end" : $"'{text[_at]}'";

        private string Excerpt() => text.Length - _at <= 40 ? text[_at..] : text.Substring(_at, 40) + "...";

        private FormatException Fail(string reason) => new($"{reason} (at character {_at + 1})");
    }
}
