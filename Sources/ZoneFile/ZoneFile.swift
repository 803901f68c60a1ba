// ZoneFile: to be written
