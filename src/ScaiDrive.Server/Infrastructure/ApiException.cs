namespace ScaiDrive.Server.Infrastructure;

/// <summary>
/// Thrown anywhere below an endpoint to answer with the §21.1 error envelope. <see cref="ValidationErrors"/>
/// is set only for 422 validation failures, whose <c>detail</c> stays the FastAPI array.
/// </summary>
internal sealed class ApiException : Exception
{
    public ApiException(int status, string code, string message, object? details = null)
        : base(message)
    {
        Status = status;
        Code = code;
        Details = details;
    }

    public int Status { get; }

    public string Code { get; }

    public object? Details { get; }

    public int? RetryAfterSeconds { get; init; }

    /// <summary>Extra response headers the error needs (e.g. <c>Content-Range</c> on 416).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    public IReadOnlyList<ValidationError>? ValidationErrors { get; init; }

    public static ApiException NotFound(string what) => new(404, "NOT_FOUND", $"{what} not found");

    public static ApiException Gone(string what) => new(410, "RESOURCE_DELETED", $"{what} is deleted; restore it first");

    public static ApiException Forbidden(string permission, string resource) =>
        new(403, "AUTHZ_PERMISSION_DENIED", $"Permission denied: {permission} on {resource}");

    public static ApiException NameConflict(string name) => new(409, "NAME_CONFLICT", $"An item named '{name}' already exists here");

    public static ApiException BadRequest(string code, string message) => new(400, code, message);

    public static ApiException Unauthorized(string code, string message) => new(401, code, message);

    public static ApiException Validation(string location, string message, string type = "value_error") =>
        new(422, "VALIDATION_ERROR", message)
        {
            ValidationErrors = [new ValidationError(["body", location], message, type)],
        };

    public static ApiException MissingField(string location, string where = "body") =>
        new(422, "VALIDATION_ERROR", $"Field required: {location}")
        {
            ValidationErrors = [new ValidationError([where, location], "Field required", "missing")],
        };
}

/// <summary>One entry of a 422 <c>detail</c> array, FastAPI-style.</summary>
internal sealed record ValidationError(string[] Loc, string Msg, string Type);
