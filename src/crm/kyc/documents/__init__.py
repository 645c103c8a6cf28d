"""KYC documents: what a client sends to prove who they are and where they live, checked and kept."""
