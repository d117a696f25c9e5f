using System.Text.Json;
using Fennel.Protocol;

namespace Fennel.Tests.Protocol;

public class KombuJsonTests
{
    private static readonly JsonSerializerOptions Plain = KombuJson.CreateOptions(writeTypeTags: false);
    private static readonly JsonSerializerOptions Tagged = KombuJson.CreateOptions(writeTypeTags: true);

    [Fact]
    public void Reads_kombu_type_tags_and_plain_values()
    {
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero),
            JsonSerializer.Deserialize<DateTimeOffset>("""{"__type__": "datetime", "__value__": "2030-01-02T03:04:05+00:00"}""", Plain));
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), JsonSerializer.Deserialize<DateTimeOffset>("\"2030-01-02T03:04:05\"", Plain));
        var id = Guid.NewGuid();
        Assert.Equal(id, JsonSerializer.Deserialize<Guid>($$"""{"__type__": "uuid", "__value__": "{{id}}"}""", Plain));
        Assert.Equal(1.25m, JsonSerializer.Deserialize<decimal>("""{"__type__": "decimal", "__value__": "1.25"}""", Plain));
        Assert.Equal(1.25m, JsonSerializer.Deserialize<decimal>("1.25", Plain));
        Assert.Equal("hi"u8.ToArray(), JsonSerializer.Deserialize<byte[]>("""{"__type__": "bytes", "__value__": "hi"}""", Plain));
        Assert.Equal(new DateOnly(2030, 1, 2), JsonSerializer.Deserialize<DateOnly>("""{"__type__": "date", "__value__": "2030-01-02"}""", Plain));
    }

    [Fact]
    public void Writes_tags_only_when_asked_and_round_trips()
    {
        var when = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        Assert.StartsWith("\"2030-01-02T03:04:05", JsonSerializer.Serialize(when, Plain), StringComparison.Ordinal);
        var tagged = JsonSerializer.Serialize(when, Tagged);
        Assert.Contains("\"__type__\":\"datetime\"", tagged, StringComparison.Ordinal);
        Assert.Equal(when, JsonSerializer.Deserialize<DateTimeOffset>(tagged, Plain));
        Assert.Equal(3.5m, JsonSerializer.Deserialize<decimal>(JsonSerializer.Serialize(3.5m, Tagged), Plain));
    }

    [Fact]
    public void Objects_use_snake_case_on_the_wire()
    {
        Assert.Equal("""{"customer_id":1,"full_name":"Ada"}""", JsonSerializer.Serialize(new Customer(1, "Ada"), Plain));
        Assert.Equal(new Customer(2, "Bo"), JsonSerializer.Deserialize<Customer>("""{"customer_id": 2, "full_name": "Bo"}""", Plain));
    }

    private sealed record Customer(int CustomerId, string FullName);
}
