"""Demo region: fictitious professionals, patients and documents, and their PDF renditions.

Everything here is pure data generation, deterministic from a seed; loading it into a
database is the job of the caller.
"""
