using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Python;

namespace Fennel.Tests.Python;

/// <summary>Reading Python reprs back as JSON, for re-sending a task from the history.</summary>
public class PythonLiteralTests
{
    /// <summary>Python 3's own repr() and json.dumps() of the same values (printed by /usr/bin/python3).</summary>
    public static TheoryData<string, string> FromPython => new()
    {
        {
            """("it's", 'say "hi"', 'both \' and "', 'back\\slash', 'tab\tnew\nline\r', '\x00\x1f\x7f', '\u200bé中', '😀', '\x85\xa0', '\ud7ff', '***x', '')""",
            """["it's", "say \"hi\"", "both ' and \"", "back\\slash", "tab\tnew\nline\r", "\u0000\u001f\u007f", "\u200b\u00e9\u4e2d", "\ud83d\ude00", "\u0085\u00a0", "\ud7ff", "***x", ""]"""
        },
        {
            "[1, -2, 3.5, -0.0, 1e+16, 1.5e-07, 12345678901234567890123, 9223372036854775808, True, False, None, 1e+300, 0.1]",
            "[1, -2, 3.5, -0.0, 1e+16, 1.5e-07, 12345678901234567890123, 9223372036854775808, true, false, null, 1e+300, 0.1]"
        },
        {
            """{"k'ey": [{'nested': (1, (2,), ())}], '\n': {}}""",
            """{"k'ey": [{"nested": [1, [2], []]}], "\n": {}}"""
        },
        { "()", "[]" },
        { "(7,)", "[7]" },
        { "{}", "{}" },
        { "  ( 'a' ,  'b' , )  ", """["a", "b"]""" },
        { """'\a\b\f\v\0\101\x41\u0041\U00000041\q'""", "\"\\u0007\\b\\f\\u000b\\u0000AAAA\\\\q\"" },
    };

    [Theory]
    [MemberData(nameof(FromPython))]
    public void Pythons_reprs_read_back_as_the_JSON_Python_would_send(string repr, string json)
    {
        Assert.True(PythonLiteral.TryParse(repr, out var value, out var error), error);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), value), $"{value?.ToJsonString()} is not {json}");
    }

    [Fact]
    public void Numbers_keep_their_text_so_a_float_stays_a_float_and_a_big_int_stays_exact()
    {
        Assert.True(PythonLiteral.TryParseArgs("(1.0, 12345678901234567890123, -0.0, 1e+16)", out var args, out var error), error);
        Assert.Equal("[1.0,12345678901234567890123,-0.0,1e+16]", args.ToJsonString());
    }

    /// <summary>Fennel's own reprs (PythonRepr, what its workers put in events) of nasty values round-trip.</summary>
    [Fact]
    public void Fennels_own_reprs_of_nasty_strings_round_trip()
    {
        string[] nasty =
        [
            "", "'", "\"", "'\"", "\\", "\\'", "\\\\\"", "a\nb\r\tc", "\0\u0001\u001f\u007f", "é中😀", "\u2028\u2029", "'''", "\"\"\"",
            "} ] ) , :", "None", "True", "'***'", "<object at 0x7f>", "\\x41", "\\u0041", "\\N{DASH}",
        ];
        var args = new JsonArray([.. nasty.Select(s => (JsonNode?)JsonValue.Create(s))]);
        var kwargs = new JsonObject(nasty.Where(s => s.Length > 0).Select(s => KeyValuePair.Create(s, (JsonNode?)JsonValue.Create(s))));
        Assert.True(PythonLiteral.TryParseArgs(PythonRepr.Args(args), out var readArgs, out var error), error);
        Assert.True(JsonNode.DeepEquals(args, readArgs), readArgs.ToJsonString());
        var kwargsRepr = PythonRepr.Kwargs(kwargs);
        Assert.True(kwargsRepr.Length < PythonRepr.MaxLength, "the test's kwargs must fit in a repr");
        Assert.True(PythonLiteral.TryParseKwargs(kwargsRepr, out var readKwargs, out error), error);
        Assert.True(JsonNode.DeepEquals(kwargs, readKwargs), readKwargs.ToJsonString());
    }

    [Theory]
    [InlineData("'***'", "hidden")]
    [InlineData("***", "hidden")]
    [InlineData("('***',)", "'***'")]
    [InlineData("(1, {'password': '***'})", "'***'")]
    [InlineData("(<object object at 0x7f3a>,)", "an object's repr")]
    [InlineData("(datetime.datetime(2026, 1, 1, 0, 0),)", "'datetime.datetime' is not a literal")]
    [InlineData("(Decimal('1.5'),)", "'Decimal' is not a literal")]
    [InlineData("({1, 2},)", "a set")]
    [InlineData("(set(),)", "'set' is not a literal")]
    [InlineData("(b'raw',)", "bytes")]
    [InlineData("(inf,)", "'inf'")]
    [InlineData("(-inf,)", "not a number")]
    [InlineData("(nan,)", "'nan'")]
    [InlineData("(1e400,)", "too large")]
    [InlineData("(1j,)", "not a number")]
    [InlineData("({1: 'a'},)", "not a string")]
    [InlineData("({'a': 1, 'a': 2},)", "twice")]
    [InlineData("('abc", "not closed")]
    [InlineData("('a\nb',)", "not closed")]
    [InlineData("(1, 2", "not closed")]
    [InlineData("(1 2)", "expected ','")]
    [InlineData("(1)", "not a tuple")]
    [InlineData("('\\ud800',)", "surrogate")]
    [InlineData("('\\N{EM DASH}',)", "named escape")]
    [InlineData("('\\x4',)", "hex digits")]
    [InlineData("(1, 2) 3", "after the value")]
    [InlineData("", "ends where a value should be")]
    public void What_cannot_be_rebuilt_is_refused_with_the_reason(string repr, string reason)
    {
        Assert.False(PythonLiteral.TryParse(repr, out var value, out var error));
        Assert.Null(value);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repr_cut_short_at_1024_characters_is_refused_as_such()
    {
        var args = new JsonArray([.. Enumerable.Range(0, 400).Select(i => (JsonNode?)JsonValue.Create("item" + i))]);
        var repr = PythonRepr.Args(args);
        Assert.EndsWith("...", repr, StringComparison.Ordinal);
        Assert.False(PythonLiteral.TryParseArgs(repr, out _, out var error));
        Assert.Contains("cut short", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Args_must_be_a_sequence_and_kwargs_a_dict()
    {
        Assert.False(PythonLiteral.TryParseArgs("{'a': 1}", out _, out var error));
        Assert.Contains("not a tuple or a list but a dict", error, StringComparison.Ordinal);
        Assert.False(PythonLiteral.TryParseKwargs("(1,)", out _, out error));
        Assert.Contains("not a dict but a list", error, StringComparison.Ordinal);
        Assert.True(PythonLiteral.TryParseArgs("[1, 'x']", out var args, out error), error);
        Assert.Equal("""[1,"x"]""", args.ToJsonString());
    }

    [Fact]
    public void Deep_nesting_is_refused_not_a_stack_overflow()
    {
        Assert.False(PythonLiteral.TryParse(new string('[', 100_000), out _, out var error));
        Assert.Contains("deeper than", error, StringComparison.Ordinal);
    }
}
