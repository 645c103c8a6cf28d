"""The organisation every area stands on: legal entities, teams, staff users, roles and their scoped
assignments."""
