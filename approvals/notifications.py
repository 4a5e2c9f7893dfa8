def notifications_enqueue(*, request, event):
    return []
