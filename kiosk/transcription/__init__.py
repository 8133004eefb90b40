"""Transcription: the speech-to-text model (`transcriber`), the transcript it makes,
the background worker process that runs transcription and scoring jobs, live transcription
of an answer while it is recorded (`live`, for follow-up probes), and the sample speech the
demo and the tests speak.
"""
