"""The engine's version, recorded in every decision."""

ENGINE_VERSION = "0.2.0"
