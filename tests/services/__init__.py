"""The real services the tests use (Redis, PostgreSQL, DynamoDB on moto): each module gives a
fresh, isolated store URL per test and cleans up after it. A service that is not running is
started where that can be done, else the test fails saying what is missing: nothing skips."""
