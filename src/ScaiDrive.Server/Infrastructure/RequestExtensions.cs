using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace ScaiDrive.Server.Infrastructure;

/// <summary>Query-string access with FastAPI-style 422s naming the parameter.</summary>
internal static class RequestExtensions
{
    public static string? Query(this HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    public static string RequiredQuery(this HttpRequest request, string name) =>
        request.Query(name) ?? throw ApiException.MissingField(name, "query");

    public static bool QueryBool(this HttpRequest request, string name, bool fallback = false) => request.Query(name) switch
    {
        null => fallback,
        "true" or "True" or "1" => true,
        "false" or "False" or "0" => false,
        _ => throw QueryError(name, "Input should be a valid boolean", "bool_parsing"),
    };

    public static long? QueryLong(this HttpRequest request, string name)
    {
        string? text = request.Query(name);
        if (text is null)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw QueryError(name, "Input should be a valid integer", "int_parsing");
    }

    public static int QueryInt(this HttpRequest request, string name, int fallback, int min, int max)
    {
        long value = request.QueryLong(name) ?? fallback;
        return value >= min && value <= max
            ? (int)value
            : throw QueryError(name, $"Input should be between {min} and {max}", "value_error");
    }

    private static ApiException QueryError(string name, string message, string type) =>
        new(422, "VALIDATION_ERROR", $"{name}: {message}")
        {
            ValidationErrors = [new ValidationError(["query", name], message, type)],
        };
}
