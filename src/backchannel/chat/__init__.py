"""The chat domain: rules of services, roles, users, channels, members, messages and invites."""
