"""The suite's harness: the app served as a server serves it, the test database and its server,
and what several test modules share. Nothing here is a test; the test modules import it."""
