"""Fire-risk models for Corsica's communes: data, features, training, tracking and registry."""
