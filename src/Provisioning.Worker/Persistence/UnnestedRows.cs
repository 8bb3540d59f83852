using Npgsql;
using NpgsqlTypes;

namespace Provisioning.Worker.Persistence;

/// <summary>
/// Rows sent to PostgreSQL as one array per column and turned back into rows by <c>unnest</c>: one statement carries
/// a whole batch, whatever its size. Each column is declared once, its name beside its value.
/// </summary>
internal sealed class UnnestedRows<T>(IReadOnlyList<T> rows)
{
    private readonly List<(string Name, string Array)> _columns = [];
    private readonly List<(object Value, NpgsqlDbType Type)> _parameters = [];

    /// <summary>Adds a column <paramref name="name"/> holding <paramref name="value"/> of each row.</summary>
    public UnnestedRows<T> Column<TValue>(string name, NpgsqlDbType type, Func<T, TValue> value)
    {
        _columns.Add((name, $"${Add(rows.Select(value).ToArray(), NpgsqlDbType.Array | type)}::{SqlType(type)}[]"));
        return this;
    }

    /// <summary>The column names, comma-separated: for an INSERT's column list or a SELECT.</summary>
    public string Names => string.Join(", ", _columns.Select(c => c.Name));

    /// <summary>
    /// <c>unnest($1::type[], …) WITH ORDINALITY AS x(name, …, n)</c>: the rows under the column names, n their position
    /// in the list (an <c>ORDER BY n</c> keeps it).
    /// </summary>
    public string Source => $"unnest({string.Join(", ", _columns.Select(c => c.Array))}) WITH ORDINALITY AS x({Names}, n)";

    /// <summary>A single value beside the columns; returns its placeholder.</summary>
    public string Value(object value, NpgsqlDbType type) => $"${Add(value, type)}";

    /// <summary>The statement with its own parameters (a parameter belongs to one command only).</summary>
    public NpgsqlBatchCommand Command(string sql)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (value, type) in _parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        }

        return command;
    }

    private int Add(object value, NpgsqlDbType type)
    {
        _parameters.Add((value, type));
        return _parameters.Count;
    }

    private static string SqlType(NpgsqlDbType type) => type switch
    {
        NpgsqlDbType.Uuid => "uuid",
        NpgsqlDbType.Text => "text",
        NpgsqlDbType.Integer => "int",
        NpgsqlDbType.Boolean => "boolean",
        NpgsqlDbType.TimestampTz => "timestamptz",
        NpgsqlDbType.Bytea => "bytea",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "No SQL name for this type yet."),
    };
}
