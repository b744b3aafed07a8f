"""The Lambda runtime emulator: Runtime API, execution environments, Invoke API."""
