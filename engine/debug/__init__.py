"""engine/debug"""
