"""The local cloud: API Gateway and Lambda emulators, moto, X-Ray daemon and embedded Postgres."""
