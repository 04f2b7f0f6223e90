"""engine/nn"""
