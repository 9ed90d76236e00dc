"""THE place for authorisation: roles, capabilities, policies, scopes and lookups (STYLE.md #4)."""
