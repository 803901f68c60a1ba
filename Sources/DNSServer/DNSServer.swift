// DNSServer: to be written
