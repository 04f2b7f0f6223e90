"""gui/panels/autoencoder"""
