"""Privacy: retention and erasure, the compliance profiles, and the candidate's optional
self-identification.
"""
