using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace ScaiDrive.Server.Infrastructure;

internal static class Json
{
    /// <summary>Wire format: snake_case names, nulls written (clients rely on e.g. <c>parent_id: null</c>).</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static async Task WriteAsync(HttpContext context, int status, object value)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, value.GetType(), Options, context.RequestAborted);
    }

    public static IResult Ok(object value) => Results.Json(value, Options, statusCode: 200);

    public static IResult Created(object value) => Results.Json(value, Options, statusCode: 201);

    /// <summary>Reads a JSON object body; anything else is a 422 like FastAPI's.</summary>
    public static async Task<JsonBody> ReadBodyAsync(HttpRequest request)
    {
        try
        {
            using JsonDocument document = await JsonDocument.ParseAsync(request.Body, default, request.HttpContext.RequestAborted);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.Validation("__root__", "Input should be a JSON object", "model_type");
            }

            return new JsonBody(document.RootElement.Clone());
        }
        catch (JsonException)
        {
            throw new ApiException(422, "VALIDATION_ERROR", "Body is not valid JSON")
            {
                ValidationErrors = [new ValidationError(["body"], "JSON decode error", "json_invalid")],
            };
        }
    }
}

/// <summary>Typed access to a JSON request body; every failure is a 422 naming the field.</summary>
internal readonly struct JsonBody
{
    private readonly JsonElement _root;

    public JsonBody(JsonElement root) => _root = root;

    public bool Has(string name) => _root.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null;

    public string RequiredString(string name) => OptionalString(name) ?? throw ApiException.MissingField(name);

    public string? OptionalString(string name)
    {
        if (!_root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw ApiException.Validation(name, "Input should be a valid string", "string_type");
    }

    public long RequiredLong(string name) => OptionalLong(name) ?? throw ApiException.MissingField(name);

    public long? OptionalLong(string name)
    {
        if (!_root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long result)
            ? result
            : throw ApiException.Validation(name, "Input should be a valid integer", "int_type");
    }

    public double? OptionalDouble(string name)
    {
        if (!_root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw ApiException.Validation(name, "Input should be a valid number", "float_type");
    }

    public bool? OptionalBool(string name)
    {
        if (!_root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.Validation(name, "Input should be a valid boolean", "bool_type"),
        };
    }

    public IReadOnlyList<string>? OptionalStringArray(string name)
    {
        if (!_root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.Validation(name, "Input should be a valid list", "list_type");
        }

        var result = new List<string>(value.GetArrayLength());
        foreach (JsonElement item in value.EnumerateArray())
        {
            result.Add(item.ValueKind == JsonValueKind.String
                ? item.GetString()!
                : throw ApiException.Validation(name, "List items should be strings", "string_type"));
        }

        return result;
    }
}
