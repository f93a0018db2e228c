"""CacheSecret: writes one secret value into the DynamoDB cache with its expiry."""
