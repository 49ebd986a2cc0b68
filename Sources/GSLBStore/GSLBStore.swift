// GSLBStore: see helper
