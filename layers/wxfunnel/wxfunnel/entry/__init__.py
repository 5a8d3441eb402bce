"""Entry points: what each function runs, wiring the layers below: the callback intake (verify, receive, exactly-once
delivery), the sender, the fan-out, the admin API (QR codes and channels, statistics, reminders), and the wired client."""
