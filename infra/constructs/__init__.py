"""One construct per concern: platform, function, automation, monitoring."""
