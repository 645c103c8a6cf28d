"""Onboarding: the way from a person registering to a client who may trade (registration, the KYC journey)."""
