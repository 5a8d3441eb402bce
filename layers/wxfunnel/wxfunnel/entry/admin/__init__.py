"""The admin API (AWS_IAM): QR codes and channels, statistics, reminders, and the one mapping of errors to responses."""
