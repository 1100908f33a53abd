"""Use cases: what the API (and triggers) do, independent of HTTP and of the AWS SDK."""
