// GSLBConfigFile
