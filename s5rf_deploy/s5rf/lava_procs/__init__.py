"""Our Lava Processes and ProcessModels.

Kept in a folder of their own: Lava's compiler imports every module next to a
Process when it looks for ProcessModels.
"""
