using Microsoft.Data.Sqlite;

namespace ScaiDrive.Server.Storage;

/// <summary>
/// The metadata database: one SQLite connection in WAL mode, used by one caller at a time. SQLite calls take
/// microseconds, so a single gate is simpler than a reader pool and never the bottleneck; blob I/O, which is
/// slow, always happens outside it. Every mutation runs in one transaction, so a crash never leaves a
/// half-made file, folder or change visible.
/// </summary>
internal sealed class Db : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    // Guarded by _gate: the open transaction of the Write call in progress.
    private SqliteTransaction? _transaction;

    public Db(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        using SqliteCommand pragma = _connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";
        pragma.ExecuteNonQuery();
    }

    public T Read<T>(Func<Db, T> work)
    {
        lock (_gate)
        {
            return work(this);
        }
    }

    public T Write<T>(Func<Db, T> work)
    {
        lock (_gate)
        {
            _transaction = _connection.BeginTransaction();
            try
            {
                T result = work(this);
                _transaction.Commit();
                return result;
            }
            catch
            {
                _transaction.Rollback();
                throw;
            }
            finally
            {
                _transaction.Dispose();
                _transaction = null;
            }
        }
    }

    public void Write(Action<Db> work) => Write(db =>
    {
        work(db);
        return 0;
    });

    public int Exec(string sql, params (string Name, object? Value)[] args)
    {
        using SqliteCommand command = Command(sql, args);
        return command.ExecuteNonQuery();
    }

    public T? Scalar<T>(string sql, params (string Name, object? Value)[] args)
    {
        using SqliteCommand command = Command(sql, args);
        object? value = command.ExecuteScalar();
        if (value is null or DBNull)
        {
            return default;
        }

        Type target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture);
    }

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
    {
        using SqliteCommand command = Command(sql, args);
        using SqliteDataReader reader = command.ExecuteReader();
        var result = new List<T>();
        while (reader.Read())
        {
            result.Add(map(reader));
        }

        return result;
    }

    public T? QuerySingle<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
        where T : class
    {
        using SqliteCommand command = Command(sql, args);
        using SqliteDataReader reader = command.ExecuteReader();
        return reader.Read() ? map(reader) : null;
    }

    private SqliteCommand Command(string sql, (string Name, object? Value)[] args)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _transaction;
        foreach ((string name, object? value) in args)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _connection.Dispose();
        }
    }
}

internal static class ReaderExtensions
{
    public static string? NullableString(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? NullableLong(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
