namespace ScaiDrive.Server.Storage;

/// <summary>
/// Metadata tables. The root of a share is not a row: items at the root have a NULL parent/folder.
/// <c>name_key</c> is the case-folded NFC name, so names are case-insensitively unique among live siblings
/// (files and folders share one namespace, §21.9). <c>deleted_with</c> records the folder whose soft delete
/// took an item to the trash, so restoring that folder brings back exactly what it took.
/// </summary>
internal static class Schema
{
    public const string Sql = """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS users (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL,
            personal_share_id TEXT, created_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS shares (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT, share_type TEXT NOT NULL,
            owner_id TEXT NOT NULL, quota_bytes INTEGER, is_deleted INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, modified_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS members (
            share_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL,
            PRIMARY KEY (share_id, user_id));
        CREATE INDEX IF NOT EXISTS members_user ON members(user_id);
        CREATE TABLE IF NOT EXISTS folders (
            id TEXT PRIMARY KEY, share_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, name_key TEXT NOT NULL,
            owner_id TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL, modified_at TEXT NOT NULL,
            is_deleted INTEGER NOT NULL DEFAULT 0, deleted_with TEXT);
        CREATE INDEX IF NOT EXISTS folders_parent ON folders(share_id, parent_id, name_key);
        CREATE TABLE IF NOT EXISTS files (
            id TEXT PRIMARY KEY, share_id TEXT NOT NULL, folder_id TEXT, name TEXT NOT NULL, name_key TEXT NOT NULL,
            mime_type TEXT NOT NULL, version INTEGER NOT NULL, version_id TEXT NOT NULL, size INTEGER NOT NULL,
            checksum TEXT NOT NULL, owner_id TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
            modified_by TEXT NOT NULL, modified_at TEXT NOT NULL, is_deleted INTEGER NOT NULL DEFAULT 0, deleted_with TEXT);
        CREATE INDEX IF NOT EXISTS files_parent ON files(share_id, folder_id, name_key);
        CREATE TABLE IF NOT EXISTS versions (
            id TEXT PRIMARY KEY, file_id TEXT NOT NULL, version_number INTEGER NOT NULL, size INTEGER NOT NULL,
            checksum TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS versions_file ON versions(file_id, version_number);
        CREATE INDEX IF NOT EXISTS versions_blob ON versions(checksum);
        CREATE TABLE IF NOT EXISTS chunk_index (
            sha256 TEXT PRIMARY KEY, blob TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS chunk_index_blob ON chunk_index(blob);
        CREATE TABLE IF NOT EXISTS changes (
            position INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, share_id TEXT NOT NULL, resource_type TEXT NOT NULL,
            resource_id TEXT NOT NULL, change_type TEXT NOT NULL, changed_by TEXT NOT NULL, changed_at TEXT NOT NULL,
            old_path TEXT, new_path TEXT, version_id TEXT, metadata TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS changes_share ON changes(share_id, position);
        CREATE TABLE IF NOT EXISTS devices (
            user_id TEXT NOT NULL, device_id TEXT NOT NULL, device_name TEXT, platform TEXT, client_version TEXT,
            last_seen_at TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (user_id, device_id));
        CREATE TABLE IF NOT EXISTS cursors (
            user_id TEXT NOT NULL, device_id TEXT NOT NULL, share_id TEXT NOT NULL, position INTEGER NOT NULL,
            last_sync_at TEXT, PRIMARY KEY (user_id, device_id, share_id));
        CREATE TABLE IF NOT EXISTS refresh_tokens (
            token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS uploads (
            id TEXT PRIMARY KEY, user_id TEXT NOT NULL, share_id TEXT NOT NULL, folder_id TEXT, file_name TEXT NOT NULL,
            file_size INTEGER NOT NULL, chunk_size INTEGER NOT NULL, total_chunks INTEGER NOT NULL, mime_type TEXT NOT NULL,
            checksum TEXT, replace_file_id TEXT, base_version_id TEXT, existing_chunks TEXT NOT NULL, status TEXT NOT NULL,
            result_file_id TEXT, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS upload_chunks (
            upload_id TEXT NOT NULL, idx INTEGER NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
            PRIMARY KEY (upload_id, idx));
        CREATE TABLE IF NOT EXISTS links (
            id TEXT PRIMARY KEY, share_id TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
            link_type TEXT NOT NULL, token TEXT NOT NULL UNIQUE, short_code TEXT NOT NULL, status TEXT NOT NULL,
            password_hash TEXT, max_downloads INTEGER, download_count INTEGER NOT NULL DEFAULT 0, max_views INTEGER,
            view_count INTEGER NOT NULL DEFAULT 0, custom_name TEXT, custom_message TEXT, created_by TEXT NOT NULL,
            created_at TEXT NOT NULL, expires_at TEXT);
        """;
}
