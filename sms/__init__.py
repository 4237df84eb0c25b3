"""SMS adapter: the outbox's SMS sender through the provider's API, and the provider's reply
callback (上行短信) answering the callback survey. Unconfigured, SMS only logs."""
