using Fennel.Results;

namespace Fennel.Tests.Results;

public sealed class RemoteExceptionTests
{
    [RemoteExceptionType("ValueError", "builtins")]
    private class PythonValueError(string message) : Exception(message);

    private sealed class DerivedError(string message) : PythonValueError(message);

    [Fact]
    public void A_declared_remote_type_is_stored_as_python_sees_it()
    {
        var json = RemoteException.From(new PythonValueError("boom")).ToResultJson();

        Assert.Equal("ValueError", (string?)json["exc_type"]);
        Assert.Equal("builtins", (string?)json["exc_module"]);
        Assert.Equal("boom", (string?)json["exc_message"]![0]);
    }

    [Fact]
    public void Without_a_declaration_the_dotnet_type_and_namespace_are_stored()
    {
        var remote = RemoteException.From(new InvalidOperationException("nope"));

        Assert.Equal(("InvalidOperationException", "System"), (remote.Type, remote.Module));
    }

    [Fact]
    public void The_declaration_is_not_inherited_by_a_subclass_that_does_not_declare_one()
    {
        Assert.Equal("DerivedError", RemoteException.From(new DerivedError("x")).Type);
    }
}
