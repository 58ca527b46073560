"""Everything that talks to Cognito: the calls, the error table, and the local emulator."""
