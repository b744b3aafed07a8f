"""Authentication and authorisation: passwords, topic ACLs, tokens."""
