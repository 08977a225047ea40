"""Two database roles: the owner runs migrations, the app role may only append to the audit log.

The audit log's append-only trigger means nothing if the role the API and worker connect as
owns `audit_events`: an owner may drop the trigger (or the table). With an owner role for
`pagefree migrate` and `PAGEFREE_APP_DB_ROLE` naming the role the processes use, the app role
gets SELECT and INSERT on `audit_events` only, and ordinary read/write on every other table
(also on tables later migrations create, through default privileges). Without the setting, one
role does everything, as before.
"""

from __future__ import annotations

import re

APP_ROLE_ENV = "PAGEFREE_APP_DB_ROLE"
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def statements(app_role: str) -> list[str]:
    """Return the SQL that gives `app_role` the app's privileges (run as the owner role)."""
    if not _ROLE.match(app_role):
        raise ValueError(f"{APP_ROLE_ENV} must be a plain lower-case role name, not {app_role!r}")
    role = f'"{app_role}"'
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        f"REVOKE ALL ON audit_events FROM {role}",
        f"GRANT SELECT, INSERT ON audit_events TO {role}",
        # The app checks the schema version at start-up; it never changes it.
        f"REVOKE ALL ON alembic_version FROM {role}",
        f"GRANT SELECT ON alembic_version TO {role}",
    ]
