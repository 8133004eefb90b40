"""Devices and recording: camera, microphone, file and synthetic sources, the A/V recorder.

Imports nothing of ours and never Qt: the recorder writes into any binary sink it is given.
"""
