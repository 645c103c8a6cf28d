"""The webhook inbox: every event a vendor sends (lead forms, telephony, mail, later KYC, platforms and PSPs)
is verified on its raw bytes, stored once under (provider, event id), processed by a job and its outcome
recorded."""
