using System.IO.Pipelines;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Microsoft.Win32.SafeHandles;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Endpoints;

/// <summary>
/// Streams a blob as a download (§7.3, §21.5): single ranges only (<c>bytes=a-b</c>, <c>a-</c>, <c>-n</c>) → 206 with
/// <c>Content-Range</c>; unsatisfiable → 416 with <c>Content-Range: bytes */size</c>; a multi-range header is ignored
/// (200, whole file). <c>ETag</c> is the quoted SHA-256. The file is read in pieces of up to 1 MiB straight into the
/// response pipe's memory, so memory stays flat whatever the file size.
/// </summary>
internal static class ContentResponder
{
    public readonly record struct ByteRange(long Start, long End);

    public static async Task SendAsync(HttpContext context, Drive.ContentInfo content, ByteRange? explicitRange = null)
    {
        HttpResponse response = context.Response;
        ByteRange? range;
        bool unsatisfiable;
        if (explicitRange is { } given)
        {
            unsatisfiable = given.Start >= content.Size || given.End < given.Start;
            range = unsatisfiable ? null : new ByteRange(given.Start, Math.Min(given.End, content.Size - 1));
        }
        else
        {
            range = ParseRangeHeader(context.Request.Headers.Range.ToString(), content.Size, out unsatisfiable);
        }

        response.Headers.ETag = $"\"{content.Checksum}\"";
        response.Headers.AcceptRanges = "bytes";
        if (unsatisfiable)
        {
            throw new ApiException(416, "RANGE_NOT_SATISFIABLE", $"Range not satisfiable for a file of {content.Size} bytes",
                new Dictionary<string, object> { ["size"] = content.Size })
            {
                Headers = new Dictionary<string, string> { ["Content-Range"] = $"bytes */{content.Size}", ["ETag"] = $"\"{content.Checksum}\"" },
            };
        }

        var disposition = new ContentDispositionHeaderValue("attachment");
        disposition.SetHttpFileName(content.Name);
        response.Headers.ContentDisposition = disposition.ToString();
        response.ContentType = content.MimeType;
        response.Headers["X-File-Version"] = content.Version.ToString(CultureInfo.InvariantCulture);
        long start = range?.Start ?? 0;
        long length = range is { } r ? r.End - r.Start + 1 : content.Size;
        if (range is { } partial)
        {
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {partial.Start}-{partial.End}/{content.Size}";
        }
        else
        {
            response.StatusCode = StatusCodes.Status200OK;
        }

        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0)
        {
            return;
        }

        // The blob is read straight into the response pipe's memory: one copy fewer than reading into a buffer and
        // writing that, which the pipe would copy again. The reads are plain preads on this thread (Linux has no
        // asynchronous file reads; FileStream's would be the same pread on another pool thread, one hop more).
        using SafeFileHandle file = BlobStore.OpenReadHandle(content.BlobPath);
        PipeWriter body = response.BodyWriter;
        long offset = start;
        long left = length;
        while (left > 0)
        {
            Memory<byte> memory = body.GetMemory((int)Math.Min(left, BlobStore.CopyBufferSize));
            int want = (int)Math.Min(left, memory.Length);
            int read = RandomAccess.Read(file, memory.Span[..want], offset);
            if (read == 0)
            {
                throw new IOException($"Blob {content.Checksum} is shorter than recorded");
            }

            body.Advance(read);
            offset += read;
            left -= read;
            FlushResult flushed = await body.FlushAsync(context.RequestAborted);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return; // the client went away
            }
        }
    }

    /// <summary>Null when there is no usable single range (send everything); sets <paramref name="unsatisfiable"/> for 416.</summary>
    public static ByteRange? ParseRangeHeader(string header, long size, out bool unsatisfiable)
    {
        unsatisfiable = false;
        if (string.IsNullOrWhiteSpace(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string spec = header["bytes=".Length..].Trim();
        if (spec.Contains(','))
        {
            return null;
        }

        int dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return null;
        }

        string first = spec[..dash].Trim();
        string last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out long suffix))
            {
                return null;
            }

            if (suffix == 0 || size == 0)
            {
                unsatisfiable = true;
                return null;
            }

            return new ByteRange(Math.Max(0, size - suffix), size - 1);
        }

        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out long start))
        {
            return null;
        }

        long end = size - 1;
        if (last.Length > 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start)
            {
                return null;
            }
        }

        if (start >= size)
        {
            unsatisfiable = true;
            return null;
        }

        return new ByteRange(start, Math.Min(end, size - 1));
    }
}
