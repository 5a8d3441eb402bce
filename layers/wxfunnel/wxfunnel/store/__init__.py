"""Storage: the only code that sends DynamoDB or SQS requests, as small named operations per table concept
(deliveries, followers, channels, counters, notifications, completions, outbox, and the client's tokens and media);
`base` holds the shared conditional-write, cancellation, contended-retry and batch helpers."""
