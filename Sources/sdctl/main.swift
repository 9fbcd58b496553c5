print("sdctl")
