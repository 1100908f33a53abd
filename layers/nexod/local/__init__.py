"""Local mode: embedded Postgres, moto's Step Functions interpreter, a local JWT issuer and HTTP server."""
