// ServerConfig: to be written
