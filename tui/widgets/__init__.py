"""The console's widgets: project trees and panes, the connection header, progress and log."""
