"""Pure domain code: no AWS SDK, no database driver, no environment reads."""
