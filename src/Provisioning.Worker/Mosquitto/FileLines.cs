namespace Provisioning.Worker.Mosquitto;

/// <summary>Receives one line without its '\n'.</summary>
public delegate void LineVisitor(ReadOnlySpan<byte> line);

/// <summary>Reads a file line by line without holding it whole: a projected file can hold a million devices.</summary>
public static class FileLines
{
    /// <summary>Visits every line of the file at <paramref name="path"/>; false when the file does not exist.</summary>
    public static async Task<bool> ForEachAsync(string path, LineVisitor visit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(visit);
        FileStream? file = null;
        try
        {
            file = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, BufferSize = 0 });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            file?.Dispose();
            return false;
        }

        await using (file)
        {
            var buffer = new byte[1 << 20];
            var filled = 0;
            int read;
            while ((read = await file.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += read;
                var consumed = Visit(buffer.AsSpan(0, filled), visit, final: false);
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2); // a pathological line; the checks report it
                }
            }

            Visit(buffer.AsSpan(0, filled), visit, final: true);
        }

        return true;
    }

    /// <summary>Visits every line of <paramref name="content"/>.</summary>
    public static void ForEach(ReadOnlySpan<byte> content, LineVisitor visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        Visit(content, visit, final: true);
    }

    /// <summary>Visits the complete lines of <paramref name="data"/> (and an unterminated last one when final); returns the bytes consumed.</summary>
    private static int Visit(ReadOnlySpan<byte> data, LineVisitor visit, bool final)
    {
        var position = 0;
        while (position < data.Length)
        {
            var newline = data[position..].IndexOf((byte)'\n');
            if (newline < 0 && !final)
            {
                break;
            }

            var line = newline < 0 ? data[position..] : data.Slice(position, newline);
            position += newline < 0 ? line.Length : newline + 1;
            visit(line);
        }

        return position;
    }
}
