"""The product's vocabulary as pure values and rules: followers and their transitions, channels, statistics, typed jobs, reminders."""
